import { type Type } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';

export interface EnvelopeModels {
  item: Type<unknown>;
  list: Type<unknown>;
  writeResult: Type<unknown>;
}

/**
 * The three APISIX v3 envelopes around a resource model, named after it (`StreamRouteItem`,
 * `StreamRouteList`, `StreamRouteWriteResult`) so the generated client has precise types.
 */
export function defineEnvelopeModels(
  model: Type<unknown>,
  name: string,
  keyExample: string,
): EnvelopeModels {
  class WriteResult {
    @ApiProperty({ example: keyExample })
    key!: string;

    @ApiProperty({ type: () => model })
    value!: unknown;
  }
  class Item extends WriteResult {
    /** Store revision at creation. */
    @ApiProperty({ type: 'integer' })
    createdIndex!: number;

    /** Store revision of the last write. */
    @ApiProperty({ type: 'integer' })
    modifiedIndex!: number;
  }
  class List {
    @ApiProperty({ type: () => [Item] })
    list!: Item[];

    /** Count after filtering, before pagination. */
    @ApiProperty({ type: 'integer' })
    total!: number;
  }
  Object.defineProperty(WriteResult, 'name', { value: `${name}WriteResult` });
  Object.defineProperty(Item, 'name', { value: `${name}Item` });
  Object.defineProperty(List, 'name', { value: `${name}List` });
  return { item: Item, list: List, writeResult: WriteResult };
}
