'use client';

import { Suspense } from 'react';
import { serviceEditor } from '../../../components/editors/service-editor';
import { FormPage } from '../../../components/form/form-page';

export default function ServiceNewPage() {
  return (
    <Suspense>
      <FormPage definition={serviceEditor} />
    </Suspense>
  );
}
