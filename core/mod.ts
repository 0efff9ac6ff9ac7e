export * from "./errors.ts";
export * from "./ids.ts";
export * from "./settings.ts";
export * from "./dotenv.ts";
