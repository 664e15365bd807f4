// Publish one `purchase.completed` to the loyalty platform with kafkajs (docs/events.md).
//
//     npm ci && node produce-purchase.js MEMBER_ID ORDER_ID TOTAL [--time RFC3339] [--dry-run]
//
// Environment (defaults: the local broker of `make run`):
//
// - KAFKA_BOOTSTRAP: host:port[,host:port...] (127.0.0.1:9092)
// - KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: SCRAM-SHA-512 over TLS (the KafkaUser and its secret)
// - KAFKA_CA_FILE: the cluster CA (ca.crt of Strimzi's loyalty-cluster-ca-cert); TLS without SASL
//   when only this is set
// - KAFKA_ENABLE_IDEMPOTENCE: true (default) or false; false against the local broker, which
//   refuses kafkajs's InitProducerId request
//
// Prints one JSON line: the event id, topic, partition and offset (with --dry-run, the record it
// would send, and connects to nothing). The Python examples beside it build the same record for
// the same order (tests check it).

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { CompressionTypes, Kafka, logLevel, Partitioners } from "kafkajs";
import { v5 as uuidv5 } from "uuid";

export const TOPIC = "commerce.purchases";
const SOURCE = "shop/web";
// The shop's own namespace for event ids: generate one once (uuid v4) and never change it, or a
// retry after the change would publish a second id for the same order.
export const SHOP_EVENT_NAMESPACE = "0b6f7c64-4a8e-4d55-9a55-3c1c2b7d5e10";
const MONEY = /^[0-9]+(\.[0-9]{1,2})?$/;
const RFC_3339 = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$/;

// The same order (or refund, with its refund id) always gets the same id: a retry after a crash,
// or a second run, publishes a duplicate the platform ignores.
export function eventId(eventType, businessKey) {
  return uuidv5(`${eventType}:${businessKey}`, SHOP_EVENT_NAMESPACE);
}

// The CloudEvent in structured mode (contract section 1). `time` is when the order was completed
// (it starts the return window), from your order, not the moment of sending.
export function purchaseCompleted(memberId, orderId, total, time) {
  return {
    specversion: "1.0",
    id: eventId("purchase.completed", orderId),
    source: SOURCE,
    type: "purchase.completed",
    time,
    subject: memberId,
    datacontenttype: "application/json",
    data: {
      order_id: orderId,
      member_id: memberId,
      channel: "online",
      currency: "CNY",
      total,
      // the order's lines; one here, for the example
      items: [{ sku: "sku-1", category: "general", quantity: 1, unit_price: total }],
    },
  };
}

export function connectionFromEnv(env) {
  const username = env.KAFKA_SASL_USERNAME || null;
  const password = env.KAFKA_SASL_PASSWORD || null;
  if (username && !password) {
    throw new Error("KAFKA_SASL_USERNAME is set but KAFKA_SASL_PASSWORD is not");
  }
  const idempotence = (env.KAFKA_ENABLE_IDEMPOTENCE ?? "true").toLowerCase();
  if (!["true", "false"].includes(idempotence)) {
    throw new Error("KAFKA_ENABLE_IDEMPOTENCE must be true or false");
  }
  return {
    bootstrap: env.KAFKA_BOOTSTRAP || "127.0.0.1:9092",
    saslUsername: username,
    saslPassword: password,
    caFile: env.KAFKA_CA_FILE || null,
    idempotence: idempotence === "true",
  };
}

// The kafkajs client settings: TLS (with the cluster CA when given, the system's CAs otherwise)
// as soon as SASL or a CA file is set.
export function clientConfig(connection) {
  const config = {
    clientId: "shop-loyalty-events",
    brokers: connection.bootstrap.split(","),
    logLevel: logLevel.WARN,
  };
  if (connection.saslUsername === null && connection.caFile === null) {
    return config;
  }
  config.ssl = connection.caFile === null ? true : { ca: [readFileSync(connection.caFile, "utf8")] };
  if (connection.saslUsername !== null) {
    config.sasl = {
      mechanism: "scram-sha-512",
      username: connection.saslUsername,
      password: connection.saslPassword,
    };
  }
  return config;
}

export async function publish(connection, event) {
  const producer = new Kafka(clientConfig(connection)).producer({
    idempotent: connection.idempotence, // no duplicates or reordering on retries
    maxInFlightRequests: 1, // kafkajs keeps the order across retries only with one in flight
    allowAutoTopicCreation: false,
    // murmur2, as the Java client and aiokafka hash keys (and librdkafka with murmur2_random)
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
    const [sent] = await producer.send({
      topic: TOPIC,
      acks: -1, // all: written to every in-sync replica before it counts as sent
      compression: CompressionTypes.GZIP, // built into every client; the platform reads any Kafka codec
      messages: [
        {
          key: event.subject, // the member id: one member, one partition, in order
          value: JSON.stringify(event),
          headers: { "content-type": "application/cloudevents+json" },
        },
      ],
    });
    return { id: event.id, topic: TOPIC, partition: sent.partition, offset: Number(sent.baseOffset) };
  } finally {
    await producer.disconnect();
  }
}

function validId(text) {
  return text.length >= 1 && text.length <= 128 && text === text.trim() && !text.includes("\0");
}

function validTime(text) {
  return RFC_3339.test(text) && !Number.isNaN(Date.parse(text));
}

function usage(message) {
  console.error(`usage: produce-purchase.js MEMBER_ID ORDER_ID TOTAL [--time RFC3339] [--dry-run]\n${message}`);
  return 2;
}

export async function main(argv, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { time: { type: "string" }, "dry-run": { type: "boolean", default: false } },
    });
  } catch (error) {
    return usage(error.message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 3) {
    return usage("expected MEMBER_ID ORDER_ID TOTAL");
  }
  const [memberId, orderId, total] = positionals;
  if (!validId(memberId) || !validId(orderId)) {
    return usage("ids: 1 to 128 characters, no surrounding spaces");
  }
  if (!MONEY.test(total)) {
    return usage("TOTAL: a decimal with at most 2 fractional digits, e.g. 399.00");
  }
  if (values.time !== undefined && !validTime(values.time)) {
    return usage("--time: RFC 3339 with an offset, e.g. 2026-11-20T10:15:00+08:00");
  }
  let connection;
  try {
    connection = connectionFromEnv(env);
  } catch (error) {
    return usage(error.message);
  }
  const time = values.time ?? new Date().toISOString().replace(/\.[0-9]+Z$/, "+00:00");
  const event = purchaseCompleted(memberId, orderId, total, time);
  if (values["dry-run"]) {
    const headers = { "content-type": "application/cloudevents+json" };
    console.log(JSON.stringify({ topic: TOPIC, key: event.subject, headers, event }));
    return 0;
  }
  try {
    console.log(JSON.stringify(await publish(connection, event)));
  } catch (error) {
    console.error(`not published: ${error.name}: ${error.message}`);
    return 1;
  }
  return 0;
}

// Run as a program (not imported): publish.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
