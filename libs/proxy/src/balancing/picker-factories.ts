import type { BalancerType } from '../config';
import { createConsistentHashPicker } from './chash-picker';
import { createEwmaPicker } from './ewma-picker';
import { createLeastConnectionsPicker } from './least-conn-picker';
import type { PickerFactory } from './node-picker';
import { createRoundRobinPicker } from './roundrobin-picker';

const PICKER_FACTORIES: ReadonlyMap<string, PickerFactory> = new Map<BalancerType, PickerFactory>([
  ['roundrobin', createRoundRobinPicker],
  ['chash', createConsistentHashPicker],
  ['least_conn', createLeastConnectionsPicker],
  ['ewma', createEwmaPicker],
]);

/** The picker factory for a balancer type; undefined for unknown types (the engine closes, spec 3.10). */
export function pickerFactoryFor(type: string): PickerFactory | undefined {
  return PICKER_FACTORIES.get(type);
}
