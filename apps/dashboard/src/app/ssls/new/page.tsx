'use client';

import { Suspense } from 'react';
import { sslEditor } from '../../../components/editors/ssl-editor';
import { FormPage } from '../../../components/form/form-page';

export default function SslNewPage() {
  return (
    <Suspense>
      <FormPage definition={sslEditor} />
    </Suspense>
  );
}
