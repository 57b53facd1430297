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
