declare const brand: unique symbol;

/** Nominal typing for strings that must not be mixed up (IDs, keys). */
export type Brand<T, B extends string> = T & { readonly [brand]: B };
