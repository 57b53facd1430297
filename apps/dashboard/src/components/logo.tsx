/** Two shores and the channel between them. */
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" fill="var(--accent)" />
      <path
        d="M6 9c4 0 6 3 10 3s6-3 10-3"
        stroke="#fff"
        strokeWidth="2.4"
        fill="none"
        strokeLinecap="round"
      />
      <path
        d="M6 16c4 0 6 3 10 3s6-3 10-3"
        stroke="#fff"
        strokeOpacity=".75"
        strokeWidth="2.4"
        fill="none"
        strokeLinecap="round"
      />
      <path
        d="M6 23c4 0 6 3 10 3s6-3 10-3"
        stroke="#fff"
        strokeOpacity=".5"
        strokeWidth="2.4"
        fill="none"
        strokeLinecap="round"
      />
    </svg>
  );
}
