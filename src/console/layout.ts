/**
 * The frame of every console page: skip link, landmarks, the navigation the user's roles allow, the session's expiry
 * times (announced before they expire by session-timer.js) and the sign-out form. Pure functions of their data.
 */
import { html, type Html } from './html.ts';
import { sectionsFor } from './sections.ts';
import { utc } from './format.ts';

export interface SessionView {
  userId: string;
  name?: string;
  roles: string[];
  csrfToken: string;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  idleTimeoutS: number;
  absoluteTimeoutS: number;
}

export interface LayoutOpts { tenant: string; title: string; session?: SessionView; current?: string; types?: readonly string[] }

export const consoleBase = (tenant: string) => `/t/${tenant}/console`;

const minutes = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : `${Math.round(s / 60)} min`);

export function layout(o: LayoutOpts, body: Html): string {
  const base = consoleBase(o.tenant);
  const s = o.session;
  return '<!doctype html>\n' + html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · Plan-Net staff console · ${o.tenant}</title>
<link rel="stylesheet" href="${base}/static/console.css">
${s ? html`<script src="${base}/static/session-timer.js" defer></script>` : ''}
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site">
  <a class="brand" href="${base}/">Plan-Net staff console <span>(${o.tenant})</span></a>
  ${s ? html`<nav class="main" aria-label="Main">
    <ul>
      <li><a href="${base}/"${o.current === 'home' ? html` aria-current="page"` : ''}>Home</a></li>
      ${(o.types ?? []).map((t) => html`<li><a href="${base}/directory/${t}"${o.current === t ? html` aria-current="page"` : ''}>${t}</a></li>`)}
      ${sectionsFor(s.roles).map((x) => html`<li><a href="${base}${x.path}"${o.current === x.path ? html` aria-current="page"` : ''}>${x.label}</a></li>`)}
    </ul>
  </nav>
  <div class="session">
    <span>Signed in as <strong>${s.name ?? s.userId}</strong> (${s.roles.join(', ')})</span>
    <form method="post" action="${base}/sign-out">
      <input type="hidden" name="_csrf" value="${s.csrfToken}">
      <button type="submit">Sign out</button>
    </form>
  </div>` : ''}
</header>
${s ? html`<div class="session-info" role="region" aria-label="Session">
  <p id="session-expiry" class="notice" data-idle-expires="${s.idleExpiresAt.toISOString()}" data-absolute-expires="${s.absoluteExpiresAt.toISOString()}" data-sign-in="/t/${o.tenant}/auth/saml/login?returnTo=${encodeURIComponent(base + '/')}">
    Your session times out after ${minutes(s.idleTimeoutS)} without activity (now at ${utc(s.idleExpiresAt)}) and ends at the latest at ${utc(s.absoluteExpiresAt)} (${minutes(s.absoluteTimeoutS)} after sign-in).
  </p>
  <div id="session-warning" class="warning" role="status" aria-live="polite"></div>
</div>` : ''}
<main id="main" tabindex="-1">
${body}
</main>
<footer class="site"><p>Plan-Net provider directory · tenant ${o.tenant}</p></footer>
</body>
</html>
`.value;
}

export function errorPage(o: LayoutOpts, heading: string, message: string): string {
  return layout(o, html`<h1>${heading}</h1><p>${message}</p><p><a href="${consoleBase(o.tenant)}/">Console home</a></p>`);
}

