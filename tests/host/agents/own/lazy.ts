/** Loaded by a dynamic import with a literal specifier: part of the module graph. */
export const tag = "lazy";
