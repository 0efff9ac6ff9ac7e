/**
 * The named set of secret files: environment files, private keys and
 * credential stores. They are refused to every tool and masked in every
 * sandbox, at any depth inside the roots, unless the manifest names the exact
 * file. Guest-safe.
 */
import { basename, isAbsolute, relative, sep } from "./node_path.ts";

/** File names that hold secrets (matched against the last path component). */
const SECRET_FILES: RegExp[] = [
  /^\.env(\..+)?$/, // .env, .env.local, .env.production, …
  /^\.envrc$/,
  /\.(pem|key|p12|pfx)$/i,
  /^id_[A-Za-z0-9_-]+(\.pub)?$/, // ssh keys: id_rsa, id_ed25519, …
  /^\.netrc$/,
  /^\.npmrc$/,
  /^\.pypirc$/,
  /^\.pgpass$/,
  /^\.git-credentials$/,
];

/** Folder names whose whole content is secret. */
const SECRET_DIRS = new Set([".ssh", ".aws", ".gnupg"]);

/**
 * Whether a file or folder name is in the secret set. Case does not matter:
 * on a case-insensitive file system (macOS, vfat, ext4 casefold) `.ENV` opens
 * `.env`, and nobody keeps a harmless file in `.SSH`.
 */
export function isSecretName(name: string, isDir = false): boolean {
  const lower = name.toLowerCase();
  if (isDir && SECRET_DIRS.has(lower)) return true;
  return SECRET_FILES.some((pattern) => pattern.test(lower));
}

function isSecretDir(name: string): boolean {
  return SECRET_DIRS.has(name.toLowerCase());
}

/**
 * The first component of `path` below `root` that is a secret (a secret
 * folder anywhere above it, or the file itself), or null. Both absolute.
 */
export function secretInPath(path: string, root: string): string | null {
  const rel = relative(root, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    return isSecretName(basename(path)) ? basename(path) : null;
  }
  const parts = rel.split(sep);
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    if (isSecretDir(parts[i]) && !last) return parts[i];
    if (isSecretName(parts[i], !last) || (last && isSecretDir(parts[i]))) return parts[i];
  }
  return null;
}
