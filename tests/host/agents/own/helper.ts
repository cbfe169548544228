/** A helper module of the multi-file agent. */
export function answer(): number {
  return 42;
}
