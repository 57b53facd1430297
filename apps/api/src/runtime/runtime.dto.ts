import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ListenerStatusDto {
  @ApiProperty({ example: 'tcp://127.0.0.10:9101' })
  id!: string;

  @ApiProperty({ enum: ['tcp', 'udp'] })
  protocol!: string;

  @ApiProperty({ example: '127.0.0.10' })
  host!: string;

  @ApiProperty({ example: 9101 })
  port!: number;

  @ApiProperty()
  tls!: boolean;

  /** Whether the listener is bound right now. */
  @ApiProperty()
  up!: boolean;

  /** Where the listener is configured, e.g. `apisix.stream_proxy.tcp[1]`. */
  @ApiProperty({ example: 'apisix.stream_proxy.tcp[1]' })
  configKey!: string;
}

export class ObjectCountsDto {
  @ApiProperty() stream_routes!: number;
  @ApiProperty() upstreams!: number;
  @ApiProperty() ssls!: number;
  @ApiProperty() services!: number;
}

export class WorkerStatusDto {
  @ApiProperty({ description: 'Worker index (the `worker` of its connections)', example: 0 })
  index!: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Process id; null while restarting',
  })
  pid!: number | null;
  @ApiProperty({ enum: ['starting', 'running', 'restarting', 'stopping', 'stopped'] })
  state!: string;
  @ApiProperty({ description: 'Restarts after the process exited unexpectedly' })
  restarts!: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Epoch milliseconds the process became ready; null while not running',
  })
  readySince!: number | null;
}

export class DataPlaneStatusDto {
  @ApiProperty({
    enum: ['in-process', 'workers'],
    description: 'in-process: the engine runs in the API process (strait.workers: 1)',
  })
  mode!: string;
  @ApiProperty({
    type: () => [WorkerStatusDto],
    description: 'Processes running the data plane; in-process: the API process itself',
  })
  workers!: WorkerStatusDto[];
}

export class StatusDto {
  @ApiProperty({ example: '0.1.0' })
  version!: string;

  @ApiProperty({ description: 'Seconds since the service started' })
  uptimeSeconds!: number;

  @ApiProperty({ description: 'Stream routes can be managed (proxy_mode)' })
  streamEnabled!: boolean;

  @ApiProperty({ type: () => [ListenerStatusDto] })
  listeners!: ListenerStatusDto[];

  @ApiProperty({ type: () => ObjectCountsDto })
  counts!: ObjectCountsDto;

  @ApiProperty({ description: 'Connections and UDP sessions open now' })
  activeConnections!: number;
  @ApiProperty({ type: () => DataPlaneStatusDto })
  dataPlane!: DataPlaneStatusDto;
}

export class LiveConnectionDto {
  @ApiProperty() id!: number;
  @ApiProperty({ enum: ['tcp', 'udp'] }) protocol!: string;
  @ApiProperty({ example: 'tcp://0.0.0.0:9100' }) listenerId!: string;
  @ApiProperty() remoteAddr!: string;
  @ApiProperty() remotePort!: number;
  @ApiProperty() serverAddr!: string;
  @ApiProperty() serverPort!: number;
  @ApiPropertyOptional() sni?: string;
  @ApiPropertyOptional() routeId?: string;
  @ApiPropertyOptional({ example: '127.0.0.1:3306' }) node?: string;
  @ApiProperty({ enum: ['routing', 'connecting', 'relaying', 'closing'] }) phase!: string;
  @ApiProperty() bytesFromClient!: number;
  @ApiProperty() bytesToClient!: number;
  @ApiProperty({ description: 'Epoch milliseconds' }) startedAt!: number;
  @ApiProperty() ageMs!: number;
  @ApiProperty({
    description:
      'Index of the data-plane worker serving it (strait.workers); 0 when the engine runs in the API process',
    example: 0,
  })
  worker!: number;
}

export class ConnectionListDto {
  @ApiProperty({ type: () => [LiveConnectionDto] })
  list!: LiveConnectionDto[];

  @ApiProperty()
  total!: number;
}

export class ClosedCountDto {
  @ApiProperty({ description: 'How many connections were closed' })
  closed!: number;
}
