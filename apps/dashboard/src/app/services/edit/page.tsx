'use client';

import { Suspense } from 'react';
import { serviceEditor } from '../../../components/editors/service-editor';
import { FormPage } from '../../../components/form/form-page';

export default function ServiceEditPage() {
  return (
    <Suspense>
      <FormPage definition={serviceEditor} />
    </Suspense>
  );
}
