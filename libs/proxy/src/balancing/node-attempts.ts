import type { UpstreamNodeSpec } from '../config';
import type { ConnectionContext } from '../routing/types';
import type { BalancedNode } from './balanced-node';
import { FAILED_CONNECT_PENALTY_MILLISECONDS, recordEwmaSample } from './ewma-score';
import type { BalancerEnvironment, PickRequest } from './node-picker';
import type { ConnectFailure, NodeAttempts } from './types';
import type { HealthFilter, UpstreamBalancer } from './upstream-balancer';

/** Attempts that never yield a node: unknown balancer type or no nodes (the engine closes). */
export const EXHAUSTED_ATTEMPTS: NodeAttempts = Object.freeze({
  next: () => undefined,
  failed: () => undefined,
  connected: () => undefined,
  finished: () => undefined,
});

/**
 * One connection's walk through an upstream (spec 3.9): priority groups from the highest, the next
 * group only once the current one has no eligible node; `retries` retries after the first attempt;
 * no retry after the retry_timeout deadline (counted from the first pick); nodes already tried are
 * skipped. Unhealthy nodes are skipped too, unless no node the pickers could return is healthy
 * (APISIX fetch_health_nodes: "all upstream nodes is unhealthy, use default").
 *
 * Allocation per connection: this object, plus a short array only when a connection retries more
 * than once.
 */
export class ConnectionAttempts implements NodeAttempts, PickRequest {
  cursor = -1;
  private attemptsMade = 0;
  private deadline = Number.POSITIVE_INFINITY;
  private groupIndex = 0;
  private healthSuspended = false;
  private firstTried: BalancedNode | undefined;
  private laterTried: BalancedNode[] | undefined;
  private lastPicked: BalancedNode | undefined;
  /** The node whose in-flight count this connection holds; released exactly once. */
  private held: BalancedNode | undefined;

  constructor(
    private readonly balancer: UpstreamBalancer,
    readonly context: ConnectionContext,
    private readonly isHealthy: HealthFilter | undefined,
    private readonly environment: BalancerEnvironment,
  ) {}

  next(): UpstreamNodeSpec | undefined {
    // Asking again without failed() still means the previous connect is abandoned.
    this.release();
    const balancer = this.balancer;
    if (this.attemptsMade > balancer.retries) return undefined;
    if (this.attemptsMade > 0 && this.deadline !== Number.POSITIVE_INFINITY) {
      if (this.environment.now() > this.deadline) return undefined;
    }
    const node = balancer.singleNode ?? this.pickFromGroups();
    if (node === undefined) return undefined;
    if (this.attemptsMade === 0 && balancer.retryTimeoutMilliseconds > 0) {
      this.deadline = this.environment.now() + balancer.retryTimeoutMilliseconds;
    }
    this.attemptsMade++;
    this.remember(node);
    node.runtime.inFlight++;
    this.held = node;
    return node.spec;
  }

  failed(node: UpstreamNodeSpec, _reason: ConnectFailure): void {
    const picked = this.find(node);
    if (picked === undefined) return;
    recordEwmaSample(picked.runtime, FAILED_CONNECT_PENALTY_MILLISECONDS, this.environment.now());
    // A retry moves away from this node: its least_conn count goes down now (spec 3.10).
    if (this.held === picked) this.release();
  }

  connected(node: UpstreamNodeSpec, connectMs: number): void {
    const picked = this.find(node);
    if (picked !== undefined) recordEwmaSample(picked.runtime, connectMs, this.environment.now());
  }

  finished(node: UpstreamNodeSpec): void {
    if (this.held !== undefined && this.held.spec === node) this.release();
  }

  isEligible(node: BalancedNode): boolean {
    if (node === this.firstTried) return false;
    if (this.laterTried !== undefined && this.laterTried.includes(node)) return false;
    if (this.isHealthy === undefined || this.healthSuspended) return true;
    return this.isHealthy(this.balancer.key, node.spec);
  }

  private pickFromGroups(): BalancedNode | undefined {
    const groups = this.balancer.groups;
    while (this.groupIndex < groups.length) {
      const node = groups[this.groupIndex].picker.pick(this);
      if (node !== undefined) return node;
      this.groupIndex++;
      this.cursor = -1;
    }
    if (
      this.isHealthy !== undefined &&
      !this.healthSuspended &&
      !this.balancer.hasHealthyNode(this.isHealthy)
    ) {
      this.healthSuspended = true;
      this.groupIndex = 0;
      this.cursor = -1;
      return this.pickFromGroups();
    }
    return undefined;
  }

  private remember(node: BalancedNode): void {
    this.lastPicked = node;
    if (this.firstTried === undefined) this.firstTried = node;
    else (this.laterTried ??= []).push(node);
  }

  private find(spec: UpstreamNodeSpec): BalancedNode | undefined {
    if (this.lastPicked?.spec === spec) return this.lastPicked;
    if (this.firstTried?.spec === spec) return this.firstTried;
    return this.laterTried?.find((node) => node.spec === spec);
  }

  private release(): void {
    if (this.held === undefined) return;
    this.held.runtime.inFlight--;
    this.held = undefined;
  }
}
