/** `npm run build` helper: copies the non-TypeScript files that live beside the sources (JSON tables) into dist/. */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
let copied = 0;
const walk = (dir: string) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (!e.name.endsWith('.ts')) {
      const target = path.join(root, 'dist', path.relative(path.join(root, 'src'), p));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(p, target);
      copied++;
    }
  }
};
walk(path.join(root, 'src'));
console.log(`copied ${copied} asset file(s) into dist/`);
