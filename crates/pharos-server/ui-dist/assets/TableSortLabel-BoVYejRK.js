import{a as e,n as t}from"./rolldown-runtime-BWaJ3C7D.js";import{Ai as n,Bo as r,Di as i,Ei as a,Ho as o,Ii as s,Mi as c,Ni as l,Oi as u,Pi as d,Qa as f,Ri as p,Tr as m,Un as h,Uo as g,Wn as _,Ya as v,aa as y,ai as b,fo as x,go as S,ho as C,hs as w,ia as ee,ii as te,ki as T,lo as E,po as D,qa as ne,uo as O,vo as k,wr as re,zo as A}from"./ListSubheader-m3HcG2Jg.js";function ie(e){return D(`MuiLinearProgress`,e)}var j=t((()=>{E(),x(),O(`MuiLinearProgress`,[`root`,`colorPrimary`,`colorSecondary`,`determinate`,`indeterminate`,`buffer`,`query`,`dashed`,`dashedColorPrimary`,`dashedColorSecondary`,`bar`,`bar1`,`bar2`,`barColorPrimary`,`barColorSecondary`,`bar1Indeterminate`,`bar1Determinate`,`bar1Buffer`,`bar2Indeterminate`,`bar2Buffer`])})),M,N,P,F,I,L,R,z,B,V,H,U,W,G,K,q,J=t((()=>{M=e(w()),g(),A(),ne(),ee(),s(),l(),i(),n(),T(),j(),N=C(),P=4,F=k`
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
`,I=typeof F==`string`?null:S`
        animation: ${F} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite;
      `,L=k`
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
`,R=typeof L==`string`?null:S`
        animation: ${L} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite;
      `,z=k`
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
`,B=typeof z==`string`?null:S`
        animation: ${z} 3s infinite linear;
      `,V=e=>{let{classes:t,variant:n,color:i}=e,a={root:[`root`,`color${u(i)}`,n],dashed:[`dashed`,`dashedColor${u(i)}`],bar1:[`bar`,`bar1`,`barColor${u(i)}`,(n===`indeterminate`||n===`query`)&&`bar1Indeterminate`,n===`determinate`&&`bar1Determinate`,n===`buffer`&&`bar1Buffer`],bar2:[`bar`,`bar2`,n!==`buffer`&&`barColor${u(i)}`,n===`buffer`&&`color${u(i)}`,(n===`indeterminate`||n===`query`)&&`bar2Indeterminate`,n===`buffer`&&`bar2Buffer`]};return r(a,ie,t)},H=(e,t)=>e.vars?e.vars.palette.LinearProgress[`${t}Bg`]:e.palette.mode===`light`?f(e.palette[t].main,.62):v(e.palette[t].main,.5),U=p(`span`,{name:`MuiLinearProgress`,slot:`Root`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.root,t[`color${u(n.color)}`],t[n.variant]]}})(d(({theme:e})=>({position:`relative`,overflow:`hidden`,display:`block`,height:4,zIndex:0,"@media print":{colorAdjust:`exact`},variants:[...Object.entries(e.palette).filter(a()).map(([t])=>({props:{color:t},style:{backgroundColor:H(e,t)}})),{props:({ownerState:e})=>e.color===`inherit`&&e.variant!==`buffer`,style:{"&::before":{content:`""`,position:`absolute`,left:0,top:0,right:0,bottom:0,backgroundColor:`currentColor`,opacity:.3}}},{props:{variant:`buffer`},style:{backgroundColor:`transparent`}},{props:{variant:`query`},style:{transform:`rotate(180deg)`}}]}))),W=p(`span`,{name:`MuiLinearProgress`,slot:`Dashed`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.dashed,t[`dashedColor${u(n.color)}`]]}})(d(({theme:e})=>({position:`absolute`,marginTop:0,height:`100%`,width:`100%`,backgroundSize:`10px 10px`,backgroundPosition:`0 -23px`,variants:[{props:{color:`inherit`},style:{opacity:.3,backgroundImage:`radial-gradient(currentColor 0%, currentColor 16%, transparent 42%)`}},...Object.entries(e.palette).filter(a()).map(([t])=>{let n=H(e,t);return{props:{color:t},style:{backgroundImage:`radial-gradient(${n} 0%, ${n} 16%, transparent 42%)`}}})]})),B||{animation:`${z} 3s infinite linear`}),G=p(`span`,{name:`MuiLinearProgress`,slot:`Bar1`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar1,t[`barColor${u(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar1Indeterminate,n.variant===`determinate`&&t.bar1Determinate,n.variant===`buffer`&&t.bar1Buffer]}})(d(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[{props:{color:`inherit`},style:{backgroundColor:`currentColor`}},...Object.entries(e.palette).filter(a()).map(([t])=>({props:{color:t},style:{backgroundColor:(e.vars||e).palette[t].main}})),{props:{variant:`determinate`},style:{transition:`transform .${P}s linear`}},{props:{variant:`buffer`},style:{zIndex:1,transition:`transform .${P}s linear`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:I||{animation:`${F} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite`}}]}))),K=p(`span`,{name:`MuiLinearProgress`,slot:`Bar2`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar2,t[`barColor${u(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar2Indeterminate,n.variant===`buffer`&&t.bar2Buffer]}})(d(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[...Object.entries(e.palette).filter(a()).map(([t])=>({props:{color:t},style:{"--LinearProgressBar2-barColor":(e.vars||e).palette[t].main}})),{props:({ownerState:e})=>e.variant!==`buffer`&&e.color!==`inherit`,style:{backgroundColor:`var(--LinearProgressBar2-barColor, currentColor)`}},{props:({ownerState:e})=>e.variant!==`buffer`&&e.color===`inherit`,style:{backgroundColor:`currentColor`}},{props:{color:`inherit`},style:{opacity:.3}},...Object.entries(e.palette).filter(a()).map(([t])=>({props:{color:t,variant:`buffer`},style:{backgroundColor:H(e,t),transition:`transform .${P}s linear`}})),{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:R||{animation:`${L} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite`}}]}))),q=M.forwardRef(function(e,t){let n=c({props:e,name:`MuiLinearProgress`}),{className:r,color:i=`primary`,value:a,valueBuffer:s,variant:l=`indeterminate`,...u}=n,d={...n,color:i,variant:l},f=V(d),p=y(),m={},h={bar1:{},bar2:{}};if((l===`determinate`||l===`buffer`)&&a!==void 0){m[`aria-valuenow`]=Math.round(a),m[`aria-valuemin`]=0,m[`aria-valuemax`]=100;let e=a-100;p&&(e=-e),h.bar1.transform=`translateX(${e}%)`}if(l===`buffer`&&s!==void 0){let e=(s||0)-100;p&&(e=-e),h.bar2.transform=`translateX(${e}%)`}return(0,N.jsxs)(U,{className:o(f.root,r),ownerState:d,role:`progressbar`,...m,ref:t,...u,children:[l===`buffer`?(0,N.jsx)(W,{className:f.dashed,ownerState:d}):null,(0,N.jsx)(G,{className:f.bar1,ownerState:d,style:h.bar1}),l===`determinate`?null:(0,N.jsx)(K,{className:f.bar2,ownerState:d,style:h.bar2})]})})})),ae=t((()=>{J(),j(),j()})),Y,X,oe=t((()=>{w(),b(),Y=C(),X=te((0,Y.jsx)(`path`,{d:`M20 12l-1.41-1.41L13 16.17V4h-2v12.17l-5.58-5.59L4 12l8 8 8-8z`}),`ArrowDownward`)}));function se(e){return D(`MuiTableSortLabel`,e)}var Z,Q=t((()=>{E(),x(),Z=O(`MuiTableSortLabel`,[`root`,`active`,`icon`,`iconDirectionDesc`,`iconDirectionAsc`,`directionDesc`,`directionAsc`])})),ce,$,le,ue,de,fe,pe=t((()=>{A(),g(),ce=e(w()),re(),oe(),s(),l(),n(),T(),Q(),h(),$=C(),le=e=>{let{classes:t,direction:n,active:i}=e,a={root:[`root`,i&&`active`,`direction${u(n)}`],icon:[`icon`,`iconDirection${u(n)}`]};return r(a,se,t)},ue=p(m,{name:`MuiTableSortLabel`,slot:`Root`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.root,n.active&&t.active]}})(d(({theme:e})=>({cursor:`pointer`,display:`inline-flex`,justifyContent:`flex-start`,flexDirection:`inherit`,alignItems:`center`,"&:focus":{color:(e.vars||e).palette.text.secondary},"&:hover":{color:(e.vars||e).palette.text.secondary,[`& .${Z.icon}`]:{opacity:.5}},[`&.${Z.active}`]:{color:(e.vars||e).palette.text.primary,[`& .${Z.icon}`]:{opacity:1,color:(e.vars||e).palette.text.secondary}}}))),de=p(`span`,{name:`MuiTableSortLabel`,slot:`Icon`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.icon,t[`iconDirection${u(n.direction)}`]]}})(d(({theme:e})=>({fontSize:18,marginRight:4,marginLeft:4,opacity:0,transition:e.transitions.create([`opacity`,`transform`],{duration:e.transitions.duration.shorter}),userSelect:`none`,variants:[{props:{direction:`desc`},style:{transform:`rotate(0deg)`}},{props:{direction:`asc`},style:{transform:`rotate(180deg)`}}]}))),fe=ce.forwardRef(function(e,t){let n=c({props:e,name:`MuiTableSortLabel`}),{active:r=!1,children:i,className:a,direction:s=`asc`,hideSortIcon:l=!1,IconComponent:u=X,slots:d={},slotProps:f={},...p}=n,m={...n,active:r,direction:s,hideSortIcon:l,IconComponent:u},h=le(m),g={slots:d,slotProps:f},[v,y]=_(`root`,{elementType:ue,externalForwardedProps:g,ownerState:m,className:o(h.root,a),ref:t}),[b,x]=_(`icon`,{elementType:de,externalForwardedProps:g,ownerState:m,className:h.icon});return(0,$.jsxs)(v,{disableRipple:!0,component:`span`,...y,...p,children:[i,l&&!r?null:(0,$.jsx)(b,{as:u,...x})]})})})),me=t((()=>{pe(),Q(),Q()}));export{Z as a,J as c,Q as i,fe as n,ae as o,pe as r,q as s,me as t};