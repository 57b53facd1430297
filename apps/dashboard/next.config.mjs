// A static export: the service's dashboard listener serves apps/dashboard/out and the admin API on
// the same origin, so there is no Next server at runtime and nothing is fetched from the network.
/** @type {import('next').NextConfig} */
const nextConfig = {
  output: 'export',
  trailingSlash: true,
  images: { unoptimized: true },
  transpilePackages: ['@strait/api-client'],
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
