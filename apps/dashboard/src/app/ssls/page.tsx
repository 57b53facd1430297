'use client';

import { Suspense } from 'react';
import { SslList } from '../../components/lists';

export default function SslListPage() {
  return (
    <Suspense>
      <SslList />
    </Suspense>
  );
}
