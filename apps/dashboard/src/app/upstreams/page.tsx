'use client';

import { Suspense } from 'react';
import { UpstreamList } from '../../components/lists';

export default function UpstreamListPage() {
  return (
    <Suspense>
      <UpstreamList />
    </Suspense>
  );
}
