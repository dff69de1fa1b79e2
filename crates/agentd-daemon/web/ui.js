// Shared by the views: htm bound to Preact's h, and small components.

import { h } from './vendor/preact.js';
import htm from './vendor/htm.js';

/** Tagged template for Preact elements (JSX without a build step). */
export const html = htm.bind(h);

/** A session status as a coloured label (text, never colour alone). */
export function Status({ status }) {
  return html`<span class=${`status s-${status}`}>${status.replace('_', ' ')}</span>`;
}
