import { memoryStore } from "../../src";
import { describeStoreConformance } from "./store-conformance";

describeStoreConformance("memoryStore()", async () => {
  const store = memoryStore();
  return { store, reset: async () => store.clear(), close: async () => undefined };
});
