import{a as e,n as t}from"./rolldown-runtime-BWaJ3C7D.js";import{Ca as n,Co as r,Eo as i,Gi as a,Hi as o,Ji as s,Jo as c,Ko as l,Ns as u,Oo as d,Qi as f,Sa as p,So as m,To as h,Ui as g,Wi as _,Xi as v,Zi as y,Zo as b,bo as x,ea as S,is as C,na as w,os as T,rs as E,ss as D,yo as O}from"./ListSubheader-C5LAHeet.js";function k(e){return r(`MuiLinearProgress`,e)}var A=t((()=>{O(),m(),x(`MuiLinearProgress`,[`root`,`colorPrimary`,`colorSecondary`,`determinate`,`indeterminate`,`buffer`,`query`,`dashed`,`dashedColorPrimary`,`dashedColorSecondary`,`bar`,`bar1`,`bar2`,`barColorPrimary`,`barColorSecondary`,`bar1Indeterminate`,`bar1Determinate`,`bar1Buffer`,`bar2Indeterminate`,`bar2Buffer`])})),j,M,N,P,F,I,L,R,z,B,V,H,U,W,G,K,q=t((()=>{j=e(u()),D(),E(),l(),p(),S(),y(),g(),s(),a(),A(),M=h(),N=4,P=d`
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
`,F=typeof P==`string`?null:i`
        animation: ${P} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite;
      `,I=d`
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
`,L=typeof I==`string`?null:i`
        animation: ${I} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite;
      `,R=d`
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
`,z=typeof R==`string`?null:i`
        animation: ${R} 3s infinite linear;
      `,B=e=>{let{classes:t,variant:n,color:r}=e,i={root:[`root`,`color${_(r)}`,n],dashed:[`dashed`,`dashedColor${_(r)}`],bar1:[`bar`,`bar1`,`barColor${_(r)}`,(n===`indeterminate`||n===`query`)&&`bar1Indeterminate`,n===`determinate`&&`bar1Determinate`,n===`buffer`&&`bar1Buffer`],bar2:[`bar`,`bar2`,n!==`buffer`&&`barColor${_(r)}`,n===`buffer`&&`color${_(r)}`,(n===`indeterminate`||n===`query`)&&`bar2Indeterminate`,n===`buffer`&&`bar2Buffer`]};return C(i,k,t)},V=(e,t)=>e.vars?e.vars.palette.LinearProgress[`${t}Bg`]:e.palette.mode===`light`?b(e.palette[t].main,.62):c(e.palette[t].main,.5),H=w(`span`,{name:`MuiLinearProgress`,slot:`Root`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.root,t[`color${_(n.color)}`],t[n.variant]]}})(f(({theme:e})=>({position:`relative`,overflow:`hidden`,display:`block`,height:4,zIndex:0,"@media print":{colorAdjust:`exact`},variants:[...Object.entries(e.palette).filter(o()).map(([t])=>({props:{color:t},style:{backgroundColor:V(e,t)}})),{props:({ownerState:e})=>e.color===`inherit`&&e.variant!==`buffer`,style:{"&::before":{content:`""`,position:`absolute`,left:0,top:0,right:0,bottom:0,backgroundColor:`currentColor`,opacity:.3}}},{props:{variant:`buffer`},style:{backgroundColor:`transparent`}},{props:{variant:`query`},style:{transform:`rotate(180deg)`}}]}))),U=w(`span`,{name:`MuiLinearProgress`,slot:`Dashed`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.dashed,t[`dashedColor${_(n.color)}`]]}})(f(({theme:e})=>({position:`absolute`,marginTop:0,height:`100%`,width:`100%`,backgroundSize:`10px 10px`,backgroundPosition:`0 -23px`,variants:[{props:{color:`inherit`},style:{opacity:.3,backgroundImage:`radial-gradient(currentColor 0%, currentColor 16%, transparent 42%)`}},...Object.entries(e.palette).filter(o()).map(([t])=>{let n=V(e,t);return{props:{color:t},style:{backgroundImage:`radial-gradient(${n} 0%, ${n} 16%, transparent 42%)`}}})]})),z||{animation:`${R} 3s infinite linear`}),W=w(`span`,{name:`MuiLinearProgress`,slot:`Bar1`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar1,t[`barColor${_(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar1Indeterminate,n.variant===`determinate`&&t.bar1Determinate,n.variant===`buffer`&&t.bar1Buffer]}})(f(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[{props:{color:`inherit`},style:{backgroundColor:`currentColor`}},...Object.entries(e.palette).filter(o()).map(([t])=>({props:{color:t},style:{backgroundColor:(e.vars||e).palette[t].main}})),{props:{variant:`determinate`},style:{transition:`transform .${N}s linear`}},{props:{variant:`buffer`},style:{zIndex:1,transition:`transform .${N}s linear`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:F||{animation:`${P} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite`}}]}))),G=w(`span`,{name:`MuiLinearProgress`,slot:`Bar2`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar2,t[`barColor${_(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar2Indeterminate,n.variant===`buffer`&&t.bar2Buffer]}})(f(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[...Object.entries(e.palette).filter(o()).map(([t])=>({props:{color:t},style:{"--LinearProgressBar2-barColor":(e.vars||e).palette[t].main}})),{props:({ownerState:e})=>e.variant!==`buffer`&&e.color!==`inherit`,style:{backgroundColor:`var(--LinearProgressBar2-barColor, currentColor)`}},{props:({ownerState:e})=>e.variant!==`buffer`&&e.color===`inherit`,style:{backgroundColor:`currentColor`}},{props:{color:`inherit`},style:{opacity:.3}},...Object.entries(e.palette).filter(o()).map(([t])=>({props:{color:t,variant:`buffer`},style:{backgroundColor:V(e,t),transition:`transform .${N}s linear`}})),{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:L||{animation:`${I} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite`}}]}))),K=j.forwardRef(function(e,t){let r=v({props:e,name:`MuiLinearProgress`}),{className:i,color:a=`primary`,value:o,valueBuffer:s,variant:c=`indeterminate`,...l}=r,u={...r,color:a,variant:c},d=B(u),f=n(),p={},m={bar1:{},bar2:{}};if((c===`determinate`||c===`buffer`)&&o!==void 0){p[`aria-valuenow`]=Math.round(o),p[`aria-valuemin`]=0,p[`aria-valuemax`]=100;let e=o-100;f&&(e=-e),m.bar1.transform=`translateX(${e}%)`}if(c===`buffer`&&s!==void 0){let e=(s||0)-100;f&&(e=-e),m.bar2.transform=`translateX(${e}%)`}return(0,M.jsxs)(H,{className:T(d.root,i),ownerState:u,role:`progressbar`,...p,ref:t,...l,children:[c===`buffer`?(0,M.jsx)(U,{className:d.dashed,ownerState:u}):null,(0,M.jsx)(W,{className:d.bar1,ownerState:u,style:m.bar1}),c===`determinate`?null:(0,M.jsx)(G,{className:d.bar2,ownerState:u,style:m.bar2})]})})})),J=t((()=>{q(),A(),A()}));export{K as n,q as r,J as t};