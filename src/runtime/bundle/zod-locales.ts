// Stands in for zod's table of locales inside the single executable (see README.md). zod
// imports every locale it has (about 50) to offer them as `z.locales`; the router only ever
// uses its default, English, which zod's schemas import on their own. The others were 300 KB
// of the executable's script, held in V8's heap for as long as the router runs, and their
// modules' start-up code ran on every start.
export { default as en } from 'zod/v4/locales/en.js';
