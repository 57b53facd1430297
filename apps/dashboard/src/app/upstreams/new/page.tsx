'use client';

import { Suspense } from 'react';
import { upstreamEditor } from '../../../components/editors/upstream-form';
import { FormPage } from '../../../components/form/form-page';

export default function UpstreamNewPage() {
  return (
    <Suspense>
      <FormPage definition={upstreamEditor} />
    </Suspense>
  );
}
