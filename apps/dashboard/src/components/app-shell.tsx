'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect, useState, type ReactNode } from 'react';
import { SessionGate, useSession } from '../lib/session';
import { Icon } from './icons';
import { Logo } from './logo';
import { NAVIGATION, isActive } from './navigation';
import { SignIn } from './sign-in';

function Sidebar({ open, onNavigate }: { open: boolean; onNavigate(): void }) {
  const pathname = usePathname();
  return (
    <aside className={`sidebar${open ? ' sidebar--open' : ''}`} aria-label="Main navigation">
      <div className="brand">
        <Logo />
        <span className="brand-name">Strait</span>
      </div>
      <nav className="nav">
        {NAVIGATION.map((section, index) => (
          <div className="nav-section" key={section.title ?? index}>
            {section.title && <div className="nav-title">{section.title}</div>}
            {section.items.map((item) => (
              <Link
                key={item.href}
                href={item.href}
                className={`nav-item${isActive(item.href, pathname) ? ' nav-item--active' : ''}`}
                aria-current={isActive(item.href, pathname) ? 'page' : undefined}
                onClick={onNavigate}
              >
                <Icon name={item.icon} size={18} />
                <span>{item.label}</span>
              </Link>
            ))}
          </div>
        ))}
      </nav>
    </aside>
  );
}

function Topbar({ onMenu }: { onMenu(): void }) {
  const { role, signOut } = useSession();
  return (
    <header className="topbar">
      <button
        type="button"
        className="button button--icon button--ghost menu-button"
        aria-label="Open navigation"
        onClick={onMenu}
      >
        <Icon name="menu" size={20} />
      </button>
      <div className="topbar-brand">
        <Logo size={24} />
        <span className="brand-name">Strait</span>
      </div>
      <span className="spacer" />
      <span
        className={`role role--${role}`}
        title={
          role === 'admin' ? 'This key may change the configuration' : 'This key may only read'
        }
      >
        {role === 'admin' ? (
          'admin'
        ) : (
          <>
            <Icon name="lock" size={14} /> viewer
          </>
        )}
      </span>
      <button type="button" className="button button--ghost" onClick={() => signOut()}>
        <Icon name="logout" /> <span className="hide-small">Sign out</span>
      </button>
    </header>
  );
}

function Shell({ children }: { children: ReactNode }) {
  const [menuOpen, setMenuOpen] = useState(false);
  const pathname = usePathname();
  useEffect(() => setMenuOpen(false), [pathname]);
  return (
    <div className="shell">
      <Sidebar open={menuOpen} onNavigate={() => setMenuOpen(false)} />
      {menuOpen && <div className="scrim" onClick={() => setMenuOpen(false)} aria-hidden="true" />}
      <div className="main-column">
        <Topbar onMenu={() => setMenuOpen(true)} />
        <main className="content">{children}</main>
      </div>
    </div>
  );
}

export function AppShell({ children }: { children: ReactNode }) {
  return (
    <SessionGate
      renderStarting={() => (
        <div className="splash" aria-busy="true">
          <Logo size={40} />
        </div>
      )}
      renderSignIn={(props) => <SignIn {...props} />}
    >
      <Shell>{children}</Shell>
    </SessionGate>
  );
}
