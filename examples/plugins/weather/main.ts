/** Example plugin: a deterministic, made-up forecast. Needs no permissions. */

/** Arguments of `forecast`, as declared in plugin.json. */
export interface ForecastArgs {
  city: string;
  days?: number;
  units?: "metric" | "imperial";
}

const SKIES = ["sunny", "cloudy", "rain", "windy", "snow"] as const;

function seed(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619) >>> 0;
  return h;
}

/** The tools this plugin provides. */
export const tools = {
  forecast: (args: ForecastArgs) => {
    const days = args.days ?? 3;
    const units = args.units ?? "metric";
    let h = seed(args.city.toLowerCase());
    const out = [];
    for (let d = 0; d < days; d++) {
      h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
      const c = (h % 35) - 5;
      out.push({
        day: d + 1,
        sky: SKIES[h % SKIES.length],
        high: units === "metric" ? c : Math.round(c * 9 / 5 + 32),
      });
    }
    return { city: args.city, units, days: out };
  },
};
