import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

const PROBE_TYPES = ['tcp', 'udp', 'http', 'https'] as const;

/** One node's health-check state. */
export class NodeHealthDto {
  @ApiProperty({ description: 'Node address as configured', example: '127.0.0.1:3306' })
  node!: string;

  @ApiProperty({ description: 'Whether the balancer may pick the node' })
  healthy!: boolean;

  @ApiProperty({ description: 'Successful probes or connects in a row', example: 0 })
  consecutiveSuccesses!: number;

  @ApiProperty({ description: 'Failed probes or connects in a row', example: 2 })
  consecutiveFailures!: number;

  @ApiProperty({ description: 'Timed-out probes or connects in a row', example: 0 })
  consecutiveTimeouts!: number;

  @ApiProperty({
    description: 'Epoch milliseconds of the last active probe; null before the first one',
    type: 'integer',
    nullable: true,
    example: 1767225600000,
  })
  lastCheckAt!: number | null;

  @ApiProperty({
    description: 'Result of the last active probe',
    type: 'string',
    enum: ['success', 'failure', 'timeout'],
    nullable: true,
    example: 'failure',
  })
  lastResult!: string | null;

  @ApiProperty({
    description: 'Why the last failing probe or connect failed; null after a successful probe',
    type: 'string',
    nullable: true,
    example: 'connect ECONNREFUSED 127.0.0.1:3306',
  })
  lastError!: string | null;

  @ApiProperty({
    description: 'Epoch milliseconds of the last move in or out of the pool; null if never',
    type: 'integer',
    nullable: true,
    example: 1767225602000,
  })
  changedAt!: number | null;
}

/** `GET /strait/v1/upstreams/{id}/health`. */
export class UpstreamHealthDto {
  @ApiProperty({ description: 'Id of the stored upstream', example: '1' })
  upstream_id!: string;

  @ApiProperty({
    description: 'Whether the upstream has `checks`; without them every node counts as healthy',
  })
  checks!: boolean;

  @ApiProperty({
    description:
      'Whether a checker runs: checks start when the config is applied for every upstream a ' +
      'stream route uses (APISIX starts them on the first connection); an upstream no route ' +
      'uses is not probed and reports its nodes as healthy',
  })
  running!: boolean;

  @ApiPropertyOptional({ description: 'Active probe kind', enum: PROBE_TYPES, example: 'tcp' })
  type?: string;

  @ApiProperty({ type: () => [NodeHealthDto] })
  nodes!: NodeHealthDto[];
}

/** One running checker, for a stored or an inline upstream. */
export class CheckedUpstreamDto {
  @ApiProperty({
    description:
      'Upstream key: `/apisix/upstreams/<id>`, or `/apisix/stream_routes/<id>#upstream` and ' +
      '`/apisix/services/<id>#upstream` for inline upstreams',
    example: '/apisix/upstreams/1',
  })
  upstream_key!: string;

  @ApiPropertyOptional({ description: 'Id of the stored upstream, when it is one', example: '1' })
  upstream_id?: string;

  @ApiProperty({ description: 'Active probe kind', enum: PROBE_TYPES, example: 'tcp' })
  type!: string;

  @ApiProperty({ description: 'Whether proxied connections count too (passive checks)' })
  passive!: boolean;

  @ApiProperty({ description: 'Epoch milliseconds the checker started', example: 1767225600000 })
  startedAt!: number;

  @ApiProperty({ type: () => [NodeHealthDto] })
  nodes!: NodeHealthDto[];
}

/** `GET /strait/v1/health`. */
export class HealthListDto {
  @ApiProperty({ type: () => [CheckedUpstreamDto] })
  list!: CheckedUpstreamDto[];

  @ApiProperty()
  total!: number;
}
