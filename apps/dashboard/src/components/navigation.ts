import type { IconName } from './icons';

export interface NavItem {
  href: string;
  label: string;
  icon: IconName;
  /** Shown but not linked until the API it needs exists (the live views of "Operations"). */
  planned?: boolean;
}

export interface NavSection {
  title?: string;
  items: NavItem[];
}

/**
 * The sidebar. The live views are listed (disabled) so the place they take is settled: each needs
 * a /strait/v1 endpoint in openapi.yaml before it can be built on the generated client.
 */
export const NAVIGATION: NavSection[] = [
  { items: [{ href: '/', label: 'Overview', icon: 'overview' }] },
  {
    title: 'Configuration',
    items: [
      { href: '/stream-routes/', label: 'Stream routes', icon: 'route' },
      { href: '/upstreams/', label: 'Upstreams', icon: 'upstream' },
      { href: '/services/', label: 'Services', icon: 'service' },
      { href: '/ssls/', label: 'SSL objects', icon: 'certificate' },
    ],
  },
  {
    title: 'Live',
    items: [
      { href: '/connections/', label: 'Connections', icon: 'connections', planned: true },
      { href: '/traffic/', label: 'Traffic', icon: 'traffic', planned: true },
      { href: '/match/', label: 'Match debugger', icon: 'debugger', planned: true },
    ],
  },
];

export function isActive(href: string, pathname: string): boolean {
  if (href === '/') return pathname === '/';
  return pathname === href || pathname.startsWith(href) || `${pathname}/` === href;
}
