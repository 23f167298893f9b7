// The panel is a client-rendered app over the GraphQL API: no server-side data loading, no SSR
// (the tab holds its access token in memory and resumes the login from an HttpOnly cookie the API
// reads, see hooks.client.ts).
export const ssr = false;
export const prerender = false;
