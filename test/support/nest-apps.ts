import type { INestApplication, Type } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";

/** The Nest platforms a module is tested on: a name and how to make the app. */
export function nestPlatforms(module: Type): [string, () => Promise<INestApplication>][] {
  return [
    ["Express", () => NestFactory.create(module, { logger: false })],
    ["Fastify", () => NestFactory.create(module, new FastifyAdapter(), { logger: false })],
  ];
}

/**
 * Starts the app before the describe block's tests (on Fastify, until the instance is
 * ready) and closes it after them; returns how to reach it.
 */
export function useNestApp(platform: string, create: () => Promise<INestApplication>): () => INestApplication {
  let app: INestApplication;
  beforeAll(async () => {
    app = await create();
    await app.init();
    if (platform === "Fastify") await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  });
  afterAll(() => app.close());
  return () => app;
}
