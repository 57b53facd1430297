import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

export const SWAGGER_PATH = 'docs';

/** The OpenAPI document of every endpoint: APISIX-compatible ones and Strait's /strait/v1 ones. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Strait admin API')
    .setDescription(
      'Apache APISIX-compatible admin API for stream (L4) proxying — stream_routes, upstreams, ssls, ' +
        'services, plugin_metadata — plus Strait extensions under /strait/v1. Authenticate with the ' +
        'X-API-KEY header (or the api_key query parameter, or an X-API-KEY cookie).',
    )
    .setVersion('0.1.0')
    .addApiKey({ type: 'apiKey', name: 'X-API-KEY', in: 'header' }, 'X-API-KEY')
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey, methodKey) => methodKey,
  });
}

export function setUpSwagger(app: INestApplication): void {
  SwaggerModule.setup(SWAGGER_PATH, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: `${SWAGGER_PATH}/openapi.json`,
    yamlDocumentUrl: `${SWAGGER_PATH}/openapi.yaml`,
  });
}
