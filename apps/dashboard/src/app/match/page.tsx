'use client';

import { Suspense } from 'react';
import { MatchDebugger } from '../../components/live/match-debugger';

export default function MatchPage() {
  return (
    <Suspense>
      <MatchDebugger />
    </Suspense>
  );
}
