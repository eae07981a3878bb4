import { defineConfig } from 'vitepress';

// The docs of diyc: one chapter per kernel feature, in the order a container is built.
export default defineConfig({
  title: 'diyc',
  description: 'A small, real Linux container runtime in TypeScript, one tool per kernel feature',
  cleanUrls: true,
  themeConfig: {
    nav: [
      { text: 'Start', link: '/' },
      { text: 'A container by hand', link: '/by-hand' },
      { text: 'GitHub', link: 'https://github.com/diyc/diyc' },
    ],
    sidebar: [
      { text: 'Getting started', items: [{ text: 'What diyc is', link: '/' }, { text: 'Install', link: '/install' }] },
      {
        text: 'How a container is built',
        items: [
          { text: '1. Namespaces (nsexec)', link: '/namespaces' },
          { text: '2. Images and layers (diyc-image)', link: '/images' },
          { text: '3. overlayfs (diyc-overlay)', link: '/overlayfs' },
          { text: '4. cgroups (diyc-cgroup)', link: '/cgroups' },
          { text: '5. Networking (diyc-net)', link: '/networking' },
          { text: '6. Isolation', link: '/isolation' },
          { text: '7. The OCI runtime (diyc-oci)', link: '/oci' },
          { text: '8. Kubernetes (containerd\'s CRI)', link: '/kubernetes' },
        ],
      },
      { text: 'Putting it together', items: [{ text: 'A container by hand', link: '/by-hand' }, { text: 'diyc, diyC, runc and docker', link: '/comparison' }, { text: 'diyc for docker users', link: '/docker' }, { text: 'Where the time goes', link: '/performance' }] },
    ],
    search: { provider: 'local' },
  },
});
