import{a as e,n as t}from"./rolldown-runtime-BWaJ3C7D.js";import{$o as n,Bi as r,Ho as i,Ji as a,Ki as o,Qi as s,Ri as c,So as l,Vi as u,Wi as d,Wo as f,Xi as p,es as m,go as h,ho as g,ks as _,ns as v,qi as y,qo as b,rs as x,va as S,vo as C,wo as w,xo as T,ya as E,yo as D,zi as O}from"./ListSubheader-BBav8iv_.js";function k(e){return D(`MuiLinearProgress`,e)}var A=t((()=>{g(),C(),h(`MuiLinearProgress`,[`root`,`colorPrimary`,`colorSecondary`,`determinate`,`indeterminate`,`buffer`,`query`,`dashed`,`dashedColorPrimary`,`dashedColorSecondary`,`bar`,`bar1`,`bar2`,`barColorPrimary`,`barColorSecondary`,`bar1Indeterminate`,`bar1Determinate`,`bar1Buffer`,`bar2Indeterminate`,`bar2Buffer`])})),j,M,N,P,F,I,L,R,z,B,V,H,U,W,G,K,q=t((()=>{j=e(_()),x(),n(),i(),S(),p(),y(),O(),d(),u(),A(),M=T(),N=4,P=w`
  0% {
    left: -35%;
    right: 100%;
  }

  60% {
    left: 100%;
    right: -90%;
  }

  100% {
    left: 100%;
    right: -90%;
  }
`,F=typeof P==`string`?null:l`
        animation: ${P} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite;
      `,I=w`
  0% {
    left: -200%;
    right: 100%;
  }

  60% {
    left: 107%;
    right: -8%;
  }

  100% {
    left: 107%;
    right: -8%;
  }
`,L=typeof I==`string`?null:l`
        animation: ${I} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite;
      `,R=w`
  0% {
    opacity: 1;
    background-position: 0 -23px;
  }

  60% {
    opacity: 0;
    background-position: 0 -23px;
  }

  100% {
    opacity: 1;
    background-position: -200px -23px;
  }
`,z=typeof R==`string`?null:l`
        animation: ${R} 3s infinite linear;
      `,B=e=>{let{classes:t,variant:n,color:i}=e,a={root:[`root`,`color${r(i)}`,n],dashed:[`dashed`,`dashedColor${r(i)}`],bar1:[`bar`,`bar1`,`barColor${r(i)}`,(n===`indeterminate`||n===`query`)&&`bar1Indeterminate`,n===`determinate`&&`bar1Determinate`,n===`buffer`&&`bar1Buffer`],bar2:[`bar`,`bar2`,n!==`buffer`&&`barColor${r(i)}`,n===`buffer`&&`color${r(i)}`,(n===`indeterminate`||n===`query`)&&`bar2Indeterminate`,n===`buffer`&&`bar2Buffer`]};return m(a,k,t)},V=(e,t)=>e.vars?e.vars.palette.LinearProgress[`${t}Bg`]:e.palette.mode===`light`?b(e.palette[t].main,.62):f(e.palette[t].main,.5),H=s(`span`,{name:`MuiLinearProgress`,slot:`Root`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.root,t[`color${r(n.color)}`],t[n.variant]]}})(a(({theme:e})=>({position:`relative`,overflow:`hidden`,display:`block`,height:4,zIndex:0,"@media print":{colorAdjust:`exact`},variants:[...Object.entries(e.palette).filter(c()).map(([t])=>({props:{color:t},style:{backgroundColor:V(e,t)}})),{props:({ownerState:e})=>e.color===`inherit`&&e.variant!==`buffer`,style:{"&::before":{content:`""`,position:`absolute`,left:0,top:0,right:0,bottom:0,backgroundColor:`currentColor`,opacity:.3}}},{props:{variant:`buffer`},style:{backgroundColor:`transparent`}},{props:{variant:`query`},style:{transform:`rotate(180deg)`}}]}))),U=s(`span`,{name:`MuiLinearProgress`,slot:`Dashed`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.dashed,t[`dashedColor${r(n.color)}`]]}})(a(({theme:e})=>({position:`absolute`,marginTop:0,height:`100%`,width:`100%`,backgroundSize:`10px 10px`,backgroundPosition:`0 -23px`,variants:[{props:{color:`inherit`},style:{opacity:.3,backgroundImage:`radial-gradient(currentColor 0%, currentColor 16%, transparent 42%)`}},...Object.entries(e.palette).filter(c()).map(([t])=>{let n=V(e,t);return{props:{color:t},style:{backgroundImage:`radial-gradient(${n} 0%, ${n} 16%, transparent 42%)`}}})]})),z||{animation:`${R} 3s infinite linear`}),W=s(`span`,{name:`MuiLinearProgress`,slot:`Bar1`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar1,t[`barColor${r(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar1Indeterminate,n.variant===`determinate`&&t.bar1Determinate,n.variant===`buffer`&&t.bar1Buffer]}})(a(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[{props:{color:`inherit`},style:{backgroundColor:`currentColor`}},...Object.entries(e.palette).filter(c()).map(([t])=>({props:{color:t},style:{backgroundColor:(e.vars||e).palette[t].main}})),{props:{variant:`determinate`},style:{transition:`transform .${N}s linear`}},{props:{variant:`buffer`},style:{zIndex:1,transition:`transform .${N}s linear`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:F||{animation:`${P} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite`}}]}))),G=s(`span`,{name:`MuiLinearProgress`,slot:`Bar2`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar2,t[`barColor${r(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar2Indeterminate,n.variant===`buffer`&&t.bar2Buffer]}})(a(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[...Object.entries(e.palette).filter(c()).map(([t])=>({props:{color:t},style:{"--LinearProgressBar2-barColor":(e.vars||e).palette[t].main}})),{props:({ownerState:e})=>e.variant!==`buffer`&&e.color!==`inherit`,style:{backgroundColor:`var(--LinearProgressBar2-barColor, currentColor)`}},{props:({ownerState:e})=>e.variant!==`buffer`&&e.color===`inherit`,style:{backgroundColor:`currentColor`}},{props:{color:`inherit`},style:{opacity:.3}},...Object.entries(e.palette).filter(c()).map(([t])=>({props:{color:t,variant:`buffer`},style:{backgroundColor:V(e,t),transition:`transform .${N}s linear`}})),{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:L||{animation:`${I} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite`}}]}))),K=j.forwardRef(function(e,t){let n=o({props:e,name:`MuiLinearProgress`}),{className:r,color:i=`primary`,value:a,valueBuffer:s,variant:c=`indeterminate`,...l}=n,u={...n,color:i,variant:c},d=B(u),f=E(),p={},m={bar1:{},bar2:{}};if((c===`determinate`||c===`buffer`)&&a!==void 0){p[`aria-valuenow`]=Math.round(a),p[`aria-valuemin`]=0,p[`aria-valuemax`]=100;let e=a-100;f&&(e=-e),m.bar1.transform=`translateX(${e}%)`}if(c===`buffer`&&s!==void 0){let e=(s||0)-100;f&&(e=-e),m.bar2.transform=`translateX(${e}%)`}return(0,M.jsxs)(H,{className:v(d.root,r),ownerState:u,role:`progressbar`,...p,ref:t,...l,children:[c===`buffer`?(0,M.jsx)(U,{className:d.dashed,ownerState:u}):null,(0,M.jsx)(W,{className:d.bar1,ownerState:u,style:m.bar1}),c===`determinate`?null:(0,M.jsx)(G,{className:d.bar2,ownerState:u,style:m.bar2})]})})})),J=t((()=>{q(),A(),A()}));export{K as n,q as r,J as t};