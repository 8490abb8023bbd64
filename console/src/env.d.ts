/** Vite turns CSS imports into <link> tags at build time; for the type checker they are just modules. */
declare module '*.css';
