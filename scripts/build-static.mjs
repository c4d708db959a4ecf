// Copies the NHS.UK frontend's compiled CSS, JS and assets into static_build/nhsuk/,
// where Django's staticfiles finds them. The CSS refers to its images from the site root
// (/assets/...); we rewrite those to relative paths so collectstatic can fingerprint them.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const source = "node_modules/nhsuk-frontend/dist/nhsuk";
const target = "static_build/nhsuk";

rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
cpSync(join(source, "assets"), join(target, "assets"), { recursive: true });
for (const file of ["nhsuk-frontend.min.js", "nhsuk-frontend.min.js.map", "nhsuk-frontend.min.css.map"]) {
  cpSync(join(source, file), join(target, file));
}

const css = readFileSync(join(source, "nhsuk-frontend.min.css"), "utf8").replaceAll(
  "url(/assets/",
  "url(assets/",
);
writeFileSync(join(target, "nhsuk-frontend.min.css"), css);

mkdirSync("static_build/axe", { recursive: true });
try {
  cpSync("node_modules/axe-core/axe.min.js", "static_build/axe/axe.min.js");
} catch {
  // axe-core is a development dependency (browser tests); production installs omit it.
}
console.log(`NHS.UK frontend copied to ${target}`);
