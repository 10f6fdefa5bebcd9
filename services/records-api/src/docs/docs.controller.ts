import { readFileSync } from 'node:fs';
import { Controller, Get, Header } from '@nestjs/common';

/** services/records-api/openapi.json: the checked-in contract (a test compares it with the registered routes). */
export const OPENAPI_FILE = new URL('../../openapi.json', import.meta.url);

let cached: unknown;

/** The OpenAPI 3.1 document, read once. */
export function openApiDocument(): unknown {
  cached ??= JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as unknown;
  return cached;
}

@Controller('api/docs')
export class DocsController {
  /** `GET /api/docs`: the OpenAPI 3.1 document (JSON). */
  @Get()
  @Header('cache-control', 'no-cache')
  getDocs(): unknown {
    return openApiDocument();
  }
}
