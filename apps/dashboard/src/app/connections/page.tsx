'use client';

import { Suspense } from 'react';
import { ConnectionsView } from '../../components/live/connections';

export default function ConnectionsPage() {
  return (
    <Suspense>
      <ConnectionsView />
    </Suspense>
  );
}
