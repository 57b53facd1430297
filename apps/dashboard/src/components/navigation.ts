import type { IconName } from './icons';

export interface NavItem {
  href: string;
  label: string;
  icon: IconName;
}

export interface NavSection {
  title?: string;
  items: NavItem[];
}

/** The sidebar: the configuration (admin API objects), then the live views (`/strait/v1`). */
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
      { href: '/connections/', label: 'Connections', icon: 'connections' },
      { href: '/traffic/', label: 'Traffic', icon: 'traffic' },
      { href: '/match/', label: 'Match debugger', icon: 'debugger' },
    ],
  },
];

export function isActive(href: string, pathname: string): boolean {
  if (href === '/') return pathname === '/';
  return pathname === href || pathname.startsWith(href) || `${pathname}/` === href;
}
