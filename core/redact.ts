/**
 * Removes secrets from anything written to run logs and audit events: the
 * values of the keys this process knows, and common token shapes.
 */

const TOKEN_SHAPES: RegExp[] = [
  /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic
  /\bAIza[0-9A-Za-z_-]{30,}/g, // Google
  /\bgh[pousr]_[A-Za-z0-9]{30,}/g, // GitHub
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key id
  /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g, // JWT
  /(?<=\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{12,}/gi,
];

/** Matches wherever any of TOKEN_SHAPES could (a cheap first look; most text holds none). */
const MAY_HOLD_TOKEN = /sk-|AIza|gh[pousr]_|xox[abposr]-|AKIA|eyJ|bearer|basic/i;

const SECRET_FIELD = /(api[_-]?key|secret|token|password|passwd|authorization|cookie)/i;

export const REDACTED = "[REDACTED]";

export class Redactor {
  private readonly secrets: string[];

  /** `secrets`: exact values to hide (e.g. configured API keys); short ones are ignored. */
  constructor(secrets: Iterable<string> = []) {
    this.secrets = [...new Set([...secrets].filter((s) => s && s.length >= 8))]
      .sort((a, b) => b.length - a.length);
  }

  text(input: string): string {
    let out = input;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    if (!MAY_HOLD_TOKEN.test(out)) return out;
    for (const shape of TOKEN_SHAPES) out = out.replace(shape, REDACTED);
    return out;
  }

  /** Deep copy of `value` with secret-looking fields and values redacted. */
  value<T>(value: T): T {
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === "string") return this.text(value);
    if (depth > 20 || value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SECRET_FIELD.test(key) && typeof v === "string" && v !== ""
        ? REDACTED
        : this.walk(v, depth + 1);
    }
    return out;
  }
}

/** The secret values among the settings (API keys). */
export function secretsOf(settings: {
  llmApiKey: string;
  openaiApiKey: string;
  anthropicApiKey: string;
  geminiApiKey: string;
  natsPassword?: string;
  natsToken?: string;
}): string[] {
  return [
    settings.llmApiKey,
    settings.openaiApiKey,
    settings.anthropicApiKey,
    settings.geminiApiKey,
    settings.natsPassword ?? "",
    settings.natsToken ?? "",
  ];
}
