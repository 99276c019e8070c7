// Adding behaviour to a host node's callbacks without replacing what the host or other
// extensions put there.

/** `original` (when set), then `extra`, with the same arguments; returns `original`'s result. */
export function chain<A extends unknown[]>(
  original: ((...args: A) => void) | undefined,
  extra: (...args: A) => void
): (...args: A) => void {
  return function (this: unknown, ...args: A) {
    const result = original?.apply(this, args)
    extra(...args)
    return result
  }
}
