// The panel is a client-rendered app over the GraphQL API: no server-side data loading, no SSR
// (the session lives in sessionStorage, which the server cannot see).
export const ssr = false;
export const prerender = false;
