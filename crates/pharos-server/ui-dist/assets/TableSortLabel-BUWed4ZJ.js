import{a as e,n as t}from"./rolldown-runtime-BWaJ3C7D.js";import{Ai as n,Ao as r,Bo as i,Di as a,Ei as o,Fr as s,Ho as ee,Ii as c,Mi as l,Ni as u,No as d,Oi as f,Oo as p,Pi as m,Pr as h,Ri as g,Ti as _,Uo as v,aa as y,ao as b,co as x,hi as te,hs as S,ia as ne,io as C,ki as w,mi as re,no as T,so as E,to as D,uo as O,wi as k,zo as A}from"./ListSubheader-hw92A9Ji.js";function ie(e){return b(`MuiLinearProgress`,e)}var j=t((()=>{D(),C(),T(`MuiLinearProgress`,[`root`,`colorPrimary`,`colorSecondary`,`determinate`,`indeterminate`,`buffer`,`query`,`dashed`,`dashedColorPrimary`,`dashedColorSecondary`,`bar`,`bar1`,`bar2`,`barColorPrimary`,`barColorSecondary`,`bar1Indeterminate`,`bar1Determinate`,`bar1Buffer`,`bar2Indeterminate`,`bar2Buffer`])})),M,N,P,F,I,L,R,z,B,V,H,U,ae,W,G,K,q=t((()=>{M=e(S()),v(),A(),p(),ne(),c(),u(),_(),n(),a(),j(),N=E(),P=4,F=O`
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
`,I=typeof F==`string`?null:x`
        animation: ${F} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite;
      `,L=O`
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
`,R=typeof L==`string`?null:x`
        animation: ${L} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite;
      `,z=O`
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
`,B=typeof z==`string`?null:x`
        animation: ${z} 3s infinite linear;
      `,V=e=>{let{classes:t,variant:n,color:r}=e,a={root:[`root`,`color${o(r)}`,n],dashed:[`dashed`,`dashedColor${o(r)}`],bar1:[`bar`,`bar1`,`barColor${o(r)}`,(n===`indeterminate`||n===`query`)&&`bar1Indeterminate`,n===`determinate`&&`bar1Determinate`,n===`buffer`&&`bar1Buffer`],bar2:[`bar`,`bar2`,n!==`buffer`&&`barColor${o(r)}`,n===`buffer`&&`color${o(r)}`,(n===`indeterminate`||n===`query`)&&`bar2Indeterminate`,n===`buffer`&&`bar2Buffer`]};return i(a,ie,t)},H=(e,t)=>e.vars?e.vars.palette.LinearProgress[`${t}Bg`]:e.palette.mode===`light`?d(e.palette[t].main,.62):r(e.palette[t].main,.5),U=g(`span`,{name:`MuiLinearProgress`,slot:`Root`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.root,t[`color${o(n.color)}`],t[n.variant]]}})(m(({theme:e})=>({position:`relative`,overflow:`hidden`,display:`block`,height:4,zIndex:0,"@media print":{colorAdjust:`exact`},variants:[...Object.entries(e.palette).filter(k()).map(([t])=>({props:{color:t},style:{backgroundColor:H(e,t)}})),{props:({ownerState:e})=>e.color===`inherit`&&e.variant!==`buffer`,style:{"&::before":{content:`""`,position:`absolute`,left:0,top:0,right:0,bottom:0,backgroundColor:`currentColor`,opacity:.3}}},{props:{variant:`buffer`},style:{backgroundColor:`transparent`}},{props:{variant:`query`},style:{transform:`rotate(180deg)`}}]}))),ae=g(`span`,{name:`MuiLinearProgress`,slot:`Dashed`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.dashed,t[`dashedColor${o(n.color)}`]]}})(m(({theme:e})=>({position:`absolute`,marginTop:0,height:`100%`,width:`100%`,backgroundSize:`10px 10px`,backgroundPosition:`0 -23px`,variants:[{props:{color:`inherit`},style:{opacity:.3,backgroundImage:`radial-gradient(currentColor 0%, currentColor 16%, transparent 42%)`}},...Object.entries(e.palette).filter(k()).map(([t])=>{let n=H(e,t);return{props:{color:t},style:{backgroundImage:`radial-gradient(${n} 0%, ${n} 16%, transparent 42%)`}}})]})),B||{animation:`${z} 3s infinite linear`}),W=g(`span`,{name:`MuiLinearProgress`,slot:`Bar1`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar1,t[`barColor${o(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar1Indeterminate,n.variant===`determinate`&&t.bar1Determinate,n.variant===`buffer`&&t.bar1Buffer]}})(m(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[{props:{color:`inherit`},style:{backgroundColor:`currentColor`}},...Object.entries(e.palette).filter(k()).map(([t])=>({props:{color:t},style:{backgroundColor:(e.vars||e).palette[t].main}})),{props:{variant:`determinate`},style:{transition:`transform .${P}s linear`}},{props:{variant:`buffer`},style:{zIndex:1,transition:`transform .${P}s linear`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:I||{animation:`${F} 2.1s cubic-bezier(0.65, 0.815, 0.735, 0.395) infinite`}}]}))),G=g(`span`,{name:`MuiLinearProgress`,slot:`Bar2`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.bar,t.bar2,t[`barColor${o(n.color)}`],(n.variant===`indeterminate`||n.variant===`query`)&&t.bar2Indeterminate,n.variant===`buffer`&&t.bar2Buffer]}})(m(({theme:e})=>({width:`100%`,position:`absolute`,left:0,bottom:0,top:0,transition:`transform 0.2s linear`,transformOrigin:`left`,variants:[...Object.entries(e.palette).filter(k()).map(([t])=>({props:{color:t},style:{"--LinearProgressBar2-barColor":(e.vars||e).palette[t].main}})),{props:({ownerState:e})=>e.variant!==`buffer`&&e.color!==`inherit`,style:{backgroundColor:`var(--LinearProgressBar2-barColor, currentColor)`}},{props:({ownerState:e})=>e.variant!==`buffer`&&e.color===`inherit`,style:{backgroundColor:`currentColor`}},{props:{color:`inherit`},style:{opacity:.3}},...Object.entries(e.palette).filter(k()).map(([t])=>({props:{color:t,variant:`buffer`},style:{backgroundColor:H(e,t),transition:`transform .${P}s linear`}})),{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:{width:`auto`}},{props:({ownerState:e})=>e.variant===`indeterminate`||e.variant===`query`,style:R||{animation:`${L} 2.1s cubic-bezier(0.165, 0.84, 0.44, 1) 1.15s infinite`}}]}))),K=M.forwardRef(function(e,t){let n=l({props:e,name:`MuiLinearProgress`}),{className:r,color:i=`primary`,value:a,valueBuffer:o,variant:s=`indeterminate`,...c}=n,u={...n,color:i,variant:s},d=V(u),f=y(),p={},m={bar1:{},bar2:{}};if((s===`determinate`||s===`buffer`)&&a!==void 0){p[`aria-valuenow`]=Math.round(a),p[`aria-valuemin`]=0,p[`aria-valuemax`]=100;let e=a-100;f&&(e=-e),m.bar1.transform=`translateX(${e}%)`}if(s===`buffer`&&o!==void 0){let e=(o||0)-100;f&&(e=-e),m.bar2.transform=`translateX(${e}%)`}return(0,N.jsxs)(U,{className:ee(d.root,r),ownerState:u,role:`progressbar`,...p,ref:t,...c,children:[s===`buffer`?(0,N.jsx)(ae,{className:d.dashed,ownerState:u}):null,(0,N.jsx)(W,{className:d.bar1,ownerState:u,style:m.bar1}),s===`determinate`?null:(0,N.jsx)(G,{className:d.bar2,ownerState:u,style:m.bar2})]})})})),oe=t((()=>{q(),j(),j()})),J,Y,se=t((()=>{S(),te(),J=E(),Y=re((0,J.jsx)(`path`,{d:`M20 12l-1.41-1.41L13 16.17V4h-2v12.17l-5.58-5.59L4 12l8 8 8-8z`}),`ArrowDownward`)}));function ce(e){return b(`MuiTableSortLabel`,e)}var X,Z=t((()=>{D(),C(),X=T(`MuiTableSortLabel`,[`root`,`active`,`icon`,`iconDirectionDesc`,`iconDirectionAsc`,`directionDesc`,`directionAsc`])})),Q,$,le,ue,de,fe,pe=t((()=>{A(),v(),Q=e(S()),h(),se(),c(),u(),n(),a(),Z(),f(),$=E(),le=e=>{let{classes:t,direction:n,active:r}=e,a={root:[`root`,r&&`active`,`direction${o(n)}`],icon:[`icon`,`iconDirection${o(n)}`]};return i(a,ce,t)},ue=g(s,{name:`MuiTableSortLabel`,slot:`Root`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.root,n.active&&t.active]}})(m(({theme:e})=>({cursor:`pointer`,display:`inline-flex`,justifyContent:`flex-start`,flexDirection:`inherit`,alignItems:`center`,"&:focus":{color:(e.vars||e).palette.text.secondary},"&:hover":{color:(e.vars||e).palette.text.secondary,[`& .${X.icon}`]:{opacity:.5}},[`&.${X.active}`]:{color:(e.vars||e).palette.text.primary,[`& .${X.icon}`]:{opacity:1,color:(e.vars||e).palette.text.secondary}}}))),de=g(`span`,{name:`MuiTableSortLabel`,slot:`Icon`,overridesResolver:(e,t)=>{let{ownerState:n}=e;return[t.icon,t[`iconDirection${o(n.direction)}`]]}})(m(({theme:e})=>({fontSize:18,marginRight:4,marginLeft:4,opacity:0,transition:e.transitions.create([`opacity`,`transform`],{duration:e.transitions.duration.shorter}),userSelect:`none`,variants:[{props:{direction:`desc`},style:{transform:`rotate(0deg)`}},{props:{direction:`asc`},style:{transform:`rotate(180deg)`}}]}))),fe=Q.forwardRef(function(e,t){let n=l({props:e,name:`MuiTableSortLabel`}),{active:r=!1,children:i,className:a,direction:o=`asc`,hideSortIcon:s=!1,IconComponent:c=Y,slots:u={},slotProps:d={},...f}=n,p={...n,active:r,direction:o,hideSortIcon:s,IconComponent:c},m=le(p),h={slots:u,slotProps:d},[g,_]=w(`root`,{elementType:ue,externalForwardedProps:h,ownerState:p,className:ee(m.root,a),ref:t}),[v,y]=w(`icon`,{elementType:de,externalForwardedProps:h,ownerState:p,className:m.icon});return(0,$.jsxs)(g,{disableRipple:!0,component:`span`,..._,...f,children:[i,s&&!r?null:(0,$.jsx)(v,{as:c,...y})]})})})),me=t((()=>{pe(),Z(),Z()}));export{X as a,q as c,Z as i,fe as n,oe as o,pe as r,K as s,me as t};