export { HealthMonitor } from './health-monitor';
export type { HealthMonitorOptions } from './health-monitor';
export { withHealthReports } from './reporting-registry';
export { probeTcp, probeUdp, socketProber } from './probes';
export type { Prober, ProbeResult, ProbeTarget, RunningProbe, UdpProbeTarget } from './probes';
export type {
  HealthChangedEvent,
  HealthMonitorEvents,
  HealthOutcome,
  HealthSource,
  NodeHealth,
  UpstreamHealth,
} from './health-types';
