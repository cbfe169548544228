/**
 * Uses the signed `weather` plugin (examples/plugins/weather, signed in a copy) through the host:
 *   cp -r examples/plugins/weather /tmp/weather && deno task plugin keygen acme
 *   deno task plugin sign /tmp/weather --key acme
 *   deno task plugin trust <did> --name acme && deno task plugin install /tmp/weather
 *   deno task run examples/plugin_agent.ts --plugin weather
 */
import { tools } from "../sdk/mod.ts";

const forecast = await tools.call("weather.forecast", { city: "Lisbon", days: 2 });
console.log(JSON.stringify(forecast));
