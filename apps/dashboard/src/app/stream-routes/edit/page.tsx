'use client';

import { Suspense } from 'react';
import { streamRouteEditor } from '../../../components/editors/stream-route-editor';
import { FormPage } from '../../../components/form/form-page';

export default function StreamRouteEditPage() {
  return (
    <Suspense>
      <FormPage definition={streamRouteEditor} />
    </Suspense>
  );
}
