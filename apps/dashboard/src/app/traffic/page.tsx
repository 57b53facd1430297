'use client';

import { Suspense } from 'react';
import { TrafficView } from '../../components/live/traffic';

export default function TrafficPage() {
  return (
    <Suspense>
      <TrafficView />
    </Suspense>
  );
}
