/**
 * The NATS credentials and TLS of scale-out against a real nats-server: an
 * nkey seed file, a token, TLS verified against the given CA (and refused
 * without it), and one clear line for a wrong password or an unreachable server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createUser } from "@nats-io/nkeys";
import { tempDir } from "../helpers/temp.ts";
import { natsServerPath, startNats } from "../helpers/nats.ts";
import { connectNats, type NatsSettings } from "../../workers/nats_connection.ts";

const hasNats = natsServerPath() !== "";
const hasOpenssl = (() => {
  try {
    return Deno.statSync("/usr/bin/openssl").isFile;
  } catch {
    return false;
  }
})();

const none: NatsSettings = {
  natsUrl: "",
  natsUser: "",
  natsPassword: "",
  natsToken: "",
  natsCredsFile: "",
  natsNkeySeedFile: "",
  natsTlsCa: "",
};

async function pingOnce(settings: NatsSettings): Promise<void> {
  const nc = await connectNats(settings, "test", { firstTries: 1 });
  try {
    await nc.flush();
  } finally {
    await nc.close();
  }
}

Deno.test({
  name: "NATS: an nkey seed file signs in; a wrong seed is refused in one line",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    const user = createUser();
    const publicKey = user.getPublicKey();
    await using nats = await startNats(
      dir.path,
      `authorization: { users: [ { nkey: ${publicKey} } ] }`,
    );
    const seedFile = join(dir.path, "user.nk");
    await Deno.writeTextFile(seedFile, new TextDecoder().decode(user.getSeed()) + "\n", {
      mode: 0o600,
    });
    await pingOnce({ ...none, natsUrl: nats.url, natsNkeySeedFile: seedFile });

    const other = join(dir.path, "other.nk");
    await Deno.writeTextFile(other, new TextDecoder().decode(createUser().getSeed()));
    await assert.rejects(
      () => pingOnce({ ...none, natsUrl: nats.url, natsNkeySeedFile: other }),
      (error: Error) =>
        /could not connect to NATS at .*: .*(authoriz|authentic)/i.test(error.message),
    );
    await assert.rejects(
      () => pingOnce({ ...none, natsUrl: nats.url, natsNkeySeedFile: join(dir.path, "missing") }),
      /could not read the NATS nkey seed file/,
    );
  },
});

Deno.test({
  name: "NATS: a token signs in; without it the server refuses",
  ignore: !hasNats,
  async fn() {
    await using dir = await tempDir();
    await using nats = await startNats(dir.path, `authorization: { token: "s3cret-token" }`);
    await pingOnce({ ...none, natsUrl: nats.url, natsToken: "s3cret-token" });
    await assert.rejects(() => pingOnce({ ...none, natsUrl: nats.url }), /could not connect/);
  },
});

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("/usr/bin/openssl", { args, cwd, stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

Deno.test({
  name: "NATS: TLS verified against CLOSED_CLAW_NATS_TLS_CA; another CA is refused",
  ignore: !hasNats || !hasOpenssl,
  async fn() {
    await using dir = await tempDir();
    const d = dir.path;
    const subject = (cn: string) => ["-subj", `/CN=${cn}`];
    for (const ca of ["ca", "other-ca"]) {
      await openssl(
        d,
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"].concat(
          ["-keyout", `${ca}.key`, "-out", `${ca}.pem`, ...subject(ca)],
        ),
      );
    }
    await openssl(d, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      ...subject("127.0.0.1"),
    ]);
    await Deno.writeTextFile(join(d, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    await openssl(d, [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "san.ext",
    ]);
    await using nats = await startNats(
      d,
      `tls: { cert_file: "${join(d, "server.pem")}", key_file: "${join(d, "server.key")}" }`,
    );
    await pingOnce({ ...none, natsUrl: nats.url, natsTlsCa: join(d, "ca.pem") });
    await assert.rejects(
      () => pingOnce({ ...none, natsUrl: nats.url, natsTlsCa: join(d, "other-ca.pem") }),
      /could not connect/,
    );
  },
});

Deno.test({
  name: "NATS: an unreachable server is one line naming the URL and what to check",
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await assert.rejects(
      () => pingOnce({ ...none, natsUrl: `nats://127.0.0.1:${port}` }),
      (error: Error) =>
        error.message.startsWith(`could not connect to NATS at nats://127.0.0.1:${port}`) &&
        error.message.includes("-js") && !error.message.includes("\n"),
    );
  },
});
