'use client';

import { Suspense } from 'react';
import { ServiceList } from '../../components/lists';

export default function ServiceListPage() {
  return (
    <Suspense>
      <ServiceList />
    </Suspense>
  );
}
