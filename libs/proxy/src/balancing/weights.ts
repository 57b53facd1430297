export function greatestCommonDivisor(left: number, right: number): number {
  while (right !== 0) {
    const remainder = left % right;
    left = right;
    right = remainder;
  }
  return left;
}

/** The gcd of all weights (0 when every weight is 0). */
export function weightsDivisor(weights: readonly number[]): number {
  return weights.reduce((divisor, weight) => greatestCommonDivisor(divisor, weight), 0);
}
