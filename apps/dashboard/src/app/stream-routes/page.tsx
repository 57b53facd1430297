'use client';

import { Suspense } from 'react';
import { StreamRouteList } from '../../components/lists';

export default function StreamRouteListPage() {
  return (
    <Suspense>
      <StreamRouteList />
    </Suspense>
  );
}
